"""The networks: the value network and the one place that builds and trains DeepXDE models."""

"""Model-free learning from transitions: environments and their adapters, transition data, continuous-time
q-learning and the critic-actor TD method."""

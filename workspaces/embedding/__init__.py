"""Embedding: the model in force, its backends, the vector cache, the ONNX export and
changing an organization's model."""

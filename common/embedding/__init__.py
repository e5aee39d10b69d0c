"""Visual similarity: model manifest, ONNX encoder, model server and client, vector index, embed channel."""

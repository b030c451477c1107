"""Stable Diffusion family: schedulers, CLIP tokenizer, ONNX pipeline, latent preview, job and importer."""

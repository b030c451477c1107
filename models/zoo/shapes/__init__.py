"""Recipe for Genloom's bundled "shapes" text-to-image model.

The recipe renders captioned scenes of coloured shapes, trains a small latent
autoencoder, a transformer text encoder and a cross-attention UNet, and exports
them in the optimum ONNX Stable Diffusion layout. Only `render`, `score`,
`sampler` and `tokenizer` are torch-free; the training modules need torch.
"""

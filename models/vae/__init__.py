"""VAE family: latent sliders (explorer), decode/encode/traversal/interpolation jobs, and model import."""

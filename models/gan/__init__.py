"""GAN faces: latent sampling, the faces/interpolation jobs, generator validation, import and export."""

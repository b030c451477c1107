"""Recipe for the bundled `faces-vae` model (dev-time only, needs torch).

Steps, each resumable, everything heavy kept in /work/artifacts/vae (or $GENLOOM_VAE_WORK):

    python -m models.zoo.face_vae.data     # sample faces from the bundled DCGAN -> uint8 .npy
    python -m models.zoo.face_vae.train    # train the convolutional VAE (1 CPU thread, time budget)
    python -m models.zoo.face_vae.export   # ONNX encoder/decoder, axes.json, genloom.json, MODEL_CARD.md
"""

"""Networks (one short file each), the architecture registry, weight files and tiled inference.

This is where PyTorch lives; nothing outside nn/, train/ and the learned methods imports it.
"""

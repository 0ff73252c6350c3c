"""HTTP routes beside the Dash pages: thin, each checks access, parses, calls datasets/."""

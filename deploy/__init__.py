"""Copies of this project ready to upload to a Hugging Face Space: `python -m deploy --help`."""

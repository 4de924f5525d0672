"""C++ sources of the `fastbeam` decoder and their build (`python -m decoders.native`); see build.py."""

"""evalkit.sampling"""

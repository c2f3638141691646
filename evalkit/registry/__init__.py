"""evalkit.registry"""

"""evalkit.indicators"""

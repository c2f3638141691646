"""evalkit.audit"""

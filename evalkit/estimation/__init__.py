"""evalkit.estimation"""

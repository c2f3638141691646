"""evalkit.report"""

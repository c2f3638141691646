"""evalkit.questionnaire"""

"""Yutang's infrastructure: one CloudFormation stack per brand (see main.py)."""

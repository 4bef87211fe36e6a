"""The customer portal's upscale pages: dashboard, history, detail, Try it and the API docs.

They sit in the upscale app because their figures are upscale requests and ledger rows, and
layers run one way (accounts ← billing ← upscale): accounts could not read them.
"""

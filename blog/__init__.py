"""A self-hosted, server-rendered, multi-author blog."""

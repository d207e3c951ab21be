"""Access control: tokens, Casbin grants over the jurisdiction tree, scopes in SQL."""

"""Small experiments of `gil-lab learn` that the agents' runner does not make."""

"""The pure kernel every block stands on: money, identifiers, the clock port, the error tree,
hash chains, the Verhoeff check digit, keys and signatures. Standard library and
``cryptography``/``joserfc`` only; no I/O."""

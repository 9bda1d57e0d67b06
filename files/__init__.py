"""Files mlinfra produces: deterministic serialisation (dump), the rendered-file value type, the safe writer.

The bottom layer: every other package may use it; it imports no other mlinfra module."""

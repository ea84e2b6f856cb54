"""LangGraph's surface, kept in one room.

* :mod:`nbflow.compat.shapes` -- ``invoke`` / ``stream`` keyword arguments, chunk shapes (v1, v2 parts)
  and what ``invoke`` returns (pure);
* :mod:`nbflow.compat.jsonschemas` -- ``get_input_jsonschema()`` & co;
* :mod:`nbflow.compat.deprecations` -- LangGraph's deprecation warning classes;
* :mod:`nbflow.compat.lc` -- the LangChain bridge (``messages`` / ``tools`` stream modes, ``config["callbacks"]``);
* :mod:`nbflow.compat.messages` -- ``add_messages``.

The modules sit at different heights of the layer contract (``.importlinter``): the warnings are
used by the lowest modules, the shapes only by the decorators. This package's ``__init__`` imports
none of them.
"""

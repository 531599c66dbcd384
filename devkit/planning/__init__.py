"""Planning: blueprint + environment -> Plan (overrides, profiles, placement, references, graph
checks, advice) and what a plan costs. Pure and deterministic."""

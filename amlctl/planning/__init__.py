"""Planning: the pure planner, the selectors and the dependency graph, from an inventory."""

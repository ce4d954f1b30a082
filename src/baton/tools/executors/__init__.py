"""Action executors: run one side effect and describe it in an `ActionResult`."""

"""Performance measurements of the library: synthesis cost and scaling, deployment critical path, policy throughput."""

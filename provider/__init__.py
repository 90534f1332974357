"""The `mlplatform` Pulumi package: the public components hosted for TypeScript, Go, C#, Java and YAML programs."""

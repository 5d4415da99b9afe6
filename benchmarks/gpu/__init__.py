"""GPU benchmark: calibprune against llm-compressor, the original code and the physical limit, on real shapes."""

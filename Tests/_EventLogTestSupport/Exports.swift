// Tests and benchmarks reach the seeded random generator and the synthetic data through this module.
@_exported import CRMGenerator

"""Multi-plane ray tracing of many halos at once (numba kernels), equal to lenstronomy's.

lenstronomy's multi-plane ray shooting evaluates every deflector as its own Python call on the
whole pixel grid; with pyHalo's 4,000-5,000 halos per image that is seconds per image. Here the
deflectors of one lens plane and one profile family are evaluated by one kernel that takes their
parameters as arrays (:mod:`.kernels`), and the planes are traversed as lenstronomy's
``MultiPlaneBase`` does, with lenstronomy's own distances (:mod:`.tracer`). NFW-like halo
profiles (truncated, cored, cored-and-truncated) and ULDM solitons are evaluated through tables of
their exact deflection (:mod:`.tables`), accurate to 1e-6 of each halo's own deflection (tested); point
masses, sheets and the main deflectors are evaluated exactly.

- :mod:`.profiles`: the exact deflections of lenstronomy's profiles, one (pixel, halo) pair at
  a time (numba).
- :mod:`.tables`: per-process tables of the dimensionless deflection of each halo family over
  (radius, shape parameter), interpolated per halo.
- :mod:`.kernels`: one lens plane, all halos of one family, all pixels (numba, parallel over
  pixels: a pixel's sum over halos is in a fixed order whatever the number of threads).
- :mod:`.halo_arrays`: a plane's halos as the arrays a kernel call takes.
- :mod:`.tracer`: a ``LensSystem`` to source-plane positions.
"""

"""pyHalo compatibility lives in one module, is checked against pyHalo's version and is applied
only inside ``pyhalo_compat.patched()``: importing deeplense changes neither numpy nor pyHalo."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from deeplense.physics import pyhalo_compat


def test_importing_the_config_and_the_plan_leaves_numpy_and_pyhalo_untouched():
    """What the Snakefile imports when it parses the config (config -> scenarios ->
    pyhalo_adapter; workflow.plan), in a fresh interpreter."""
    code = textwrap.dedent(
        """
        import sys
        import numpy
        assert not hasattr(numpy, "trapz"), "numpy.trapz appeared at import"
        import deeplense.config, deeplense.workflow.plan  # noqa: E401
        import deeplense.physics.pyhalo_adapter  # noqa: F401
        assert not hasattr(numpy, "trapz"), "importing deeplense set numpy.trapz"
        import pyHalo.pyhalo, pyHalo.Cosmology.cosmology  # noqa: E401
        import pyHalo.Halos.galacticus_truncation.transfer_function_density_profile as tdp
        assert pyHalo.pyhalo.Cosmology is pyHalo.Cosmology.cosmology.Cosmology
        assert (tdp.x_min, tdp.x_max) == (1.0e-6, 1.0e4), (tdp.x_min, tdp.x_max)
        print("untouched")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "untouched" in out.stdout


def test_patches_hold_inside_the_block_only():
    import pyHalo.Cosmology.cosmology as cosmology_module
    import pyHalo.Halos.galacticus_truncation.transfer_function_density_profile as tdp
    import pyHalo.pyhalo as pyhalo_module

    before = (tdp.x_min, tdp.x_max, hasattr(np, "trapz"))
    with pyhalo_compat.patched():
        assert np.trapz is np.trapezoid
        assert (tdp.x_min, tdp.x_max) == pyhalo_compat.TRUNCATION_TABLE_X
        assert pyhalo_module.Cosmology is not cosmology_module.Cosmology  # the memoised one
        with pyhalo_compat.patched():  # nested: nothing re-applied, nothing undone
            assert np.trapz is np.trapezoid
        assert np.trapz is np.trapezoid
    assert (tdp.x_min, tdp.x_max, hasattr(np, "trapz")) == before
    assert pyhalo_module.Cosmology is cosmology_module.Cosmology
    with pyhalo_compat.patched(speed=False):  # compatibility only: plain pyHalo otherwise
        assert np.trapz is np.trapezoid and pyhalo_module.Cosmology is cosmology_module.Cosmology


def test_another_pyhalo_version_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(pyhalo_compat, "installed_version", lambda: "1.4.7")
    with pytest.raises(pyhalo_compat.PyHaloVersionError, match=r"pyHalo 1\.4\.7 is installed.*supports pyHalo 1\.4\.6"):
        with pyhalo_compat.patched():
            pass
    assert not hasattr(np, "trapz")


def test_installed_version_is_read_from_the_distribution():
    import pyHalo

    assert pyhalo_compat.installed_version() == pyhalo_compat.SUPPORTED_VERSION
    assert pyHalo.__version__ != pyhalo_compat.SUPPORTED_VERSION  # why __version__ is not used


def test_a_numerical_deflection_class_is_refused():
    class Realization:
        def lensing_quantities(self):
            return ["TNFW"], [0.5], [{}], object()

    with pytest.raises(NotImplementedError, match="numerical deflection"):
        pyhalo_compat.lensing_quantities(Realization())

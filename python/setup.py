# The wheel holds a native library (veclite.so) that depends on neither the Python
# version nor its ABI: it is a platform wheel (not pure Python, so files go to
# platlib) tagged py3-none-<platform>, e.g. py3-none-linux_x86_64. Everything else is
# in pyproject.toml.
from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})

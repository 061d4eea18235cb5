"""The optional extras: importing a part whose extra is missing names the install line to run."""

from __future__ import annotations

from ._invocation import pip_install_command

__all__ = ["missing_extra"]


def missing_extra(extra: str, part: str, cause: ImportError) -> ModuleNotFoundError:
    """The error to raise when `part` cannot import a dependency of the `[extra]` extra.

    The install line installs into the running interpreter's environment and works for a copy
    installed from a clone as well as from an index: pip keeps the installed luma-tools and adds
    the extra's dependencies.

    Args:
        extra: The extra that provides the dependency, e.g. `"langchain"`.
        part: The module that needs it, e.g. `"luma_tools.chains"`.
        cause: The failed import.

    Returns:
        A `ModuleNotFoundError` (so `except ImportError` still catches it); raise it `from cause`.

    Example:
        ```python
        from luma_tools._extras import missing_extra

        try:
            import not_installed_anywhere  # noqa: F401
        except ImportError as exc:
            print(missing_extra("langchain", "luma_tools.chains", exc))
        ```
    """
    missing = cause.name.partition(".")[0] if cause.name else "a dependency"
    return ModuleNotFoundError(
        f"{part} needs {missing}, from the [{extra}] extra. "
        f"Install it with: {pip_install_command(f'luma-tools[{extra}]')}",
        name=cause.name,
    )

"""`--image SERVICE=REF` options, shared by the commands that render."""

from __future__ import annotations

IMAGE_HELP = (
    "Image reference of a service, e.g. api=ghcr.io/acme/api@sha256:...; repeat for more. "
    "Services built from source without one get a placeholder tag."
)


def parse_images(values: list[str] | None) -> dict[str, str]:
    """{"api": "ghcr.io/..."} from ["api=ghcr.io/..."]; UserError for a malformed one."""
    from devkit.errors import UserError
    from devkit.model.reference import reference_problem

    images: dict[str, str] = {}
    for value in values or []:
        service, sep, ref = value.partition("=")
        if not sep or not service or not ref:
            raise UserError(
                f'--image "{value}": expected SERVICE=REFERENCE',
                details=["e.g. --image api=ghcr.io/acme/api@sha256:0123..."],
            )
        problem = reference_problem(ref)
        if problem is not None:
            raise UserError(f"--image {service}={ref}: {problem}")
        images[service] = ref
    return images

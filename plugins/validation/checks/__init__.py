"""The registered checks. Importing this package registers them; they run by stage (parse,
repair, model, validate, strict) and by `order` within a stage, not by import order."""

from plugins.validation.checks import (  # noqa: F401  (imported to register)
    auth,
    documents,
    domain_rules,
    manifest,
    normalization,
    openapi,
    openplugin,
    operation_repairs,
    ref_repairs,
    spec_repairs,
    strict,
)

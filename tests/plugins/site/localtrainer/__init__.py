"""A provider that lives only under tests/: a fake "local trainer" (issue 13, item 2).

It is registered exactly as a third-party provider would be: the `.dist-info` beside this package
declares the `reconciler.providers` entry point, and the `local_trainer` fixture puts this folder
on `sys.path`. Nothing outside `tests/plugins/` names it. Its API (all invented, for the test):

    POST   /local/v1/datasets            {"name", "urls"}                        -> dataset
    GET    /local/v1/datasets            ?name=                                  -> {"items": [...]}
    GET    /local/v1/datasets/{id}       DELETE likewise
    POST   /local/v1/jobs                {"name", "dataset_id", "hyper_parameters"} -> job
    GET    /local/v1/jobs                                                      -> {"items": [...]}
    GET    /local/v1/jobs/{id}           DELETE likewise; POST /local/v1/jobs/{id}/cancel

A job is `queued`, then `training`, then `done`, a fixed emulated time after it was created.
"""

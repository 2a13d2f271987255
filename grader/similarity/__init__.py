"""Code similarity across a class: which submissions share code beyond the template (``grade similar``)."""

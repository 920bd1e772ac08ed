"""Every model chatterm can offer (``chatterm models``, the picker) and local-server discovery."""

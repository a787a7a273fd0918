"""``python -m appliance`` runs the ``sceau`` CLI."""

from appliance.cli import main

main()

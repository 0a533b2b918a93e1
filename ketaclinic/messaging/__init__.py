"""Secure messages between a patient (in the portal) and the care team, with attachments and read receipts
(issue 18 point 4). See docs/messaging.md."""

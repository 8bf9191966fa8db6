"""The vendor portal: private links for vendor contacts to one engagement's brief."""

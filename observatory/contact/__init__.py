"""Writing to the editors (the contact form and its messages), the pages about the site itself
(accessibility statement, privacy notice) and how long personal data is kept."""

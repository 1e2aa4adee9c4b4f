"""The browser UI's tabs, one module each: advisor (the chat), exercises, views, catalog."""

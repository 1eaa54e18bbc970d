"""Read models rebuilt from the notification log: order status, the ERP-status
view, search and statistics, with the runner that keeps them current."""

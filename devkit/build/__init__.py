"""Images: content-hashed build contexts, Dockerfile base substitution, parallel builds."""

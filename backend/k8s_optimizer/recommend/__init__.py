"""Pure recommendations: history + current spec + policy in, actionable recommendations out."""

"""The strategy layer: plain functions the server's tools call. Edit them while a client is
connected; the next call runs the new code."""

PRICES = {"apple": 0.5, "bread": 2.25, "coffee": 4.0}
DISCOUNT = 0.0  # try 0.1


def quote(item: str, quantity: int) -> str:
    price = PRICES.get(item.lower())
    if price is None:
        return f"no price for {item!r}; try one of {', '.join(sorted(PRICES))}"
    total = price * quantity * (1 - DISCOUNT)
    return f"{quantity} x {item} = {total:.2f}"

"""A do-nothing BentoML 1.4 service with every default left on (access log, tracing, an
untyped dict output): what the serving stack alone costs, for the serving benchmark."""

import bentoml
from pydantic import BaseModel


class Flight(BaseModel):
    carrier: str
    flight_number: int
    origin: str
    dest: str
    scheduled_departure: str
    tailnum: str | None = None


@bentoml.service(http={"host": "127.0.0.1"})
class DoNothing:
    @bentoml.api(input_spec=Flight)
    def predict(self, **flight) -> dict:
        return {"delay_probability": 0.5}
